import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareRoutes, compileRoute } from '../../local/http/routeTemplate';

describe('ASP.NET route templates', () => {
  it('matches literals case-insensitively', () => {
    assert.deepEqual(compileRoute('Jobs/Stats').match('/jobs/STATS'), {});
    assert.equal(compileRoute('jobs/stats').match('/jobs/other'), undefined);
  });
  it('captures a parameter and percent-decodes it', () => {
    assert.deepEqual(compileRoute('jobs/{id}').match('/jobs/a%20b'), { id: 'a b' });
  });
  it('int rejects non-numbers', () => {
    const route = compileRoute('items/{id:int}');
    assert.deepEqual(route.match('/items/42'), { id: '42' });
    assert.equal(route.match('/items/abc'), undefined);
  });
  it('leaves a missing optional parameter out', () => {
    const route = compileRoute('items/{id:int}/{name?}');
    assert.deepEqual(route.match('/items/5'), { id: '5' });
    assert.deepEqual(route.match('/items/5/bob'), { id: '5', name: 'bob' });
  });
  it('fills a default when the parameter is missing', () => {
    assert.deepEqual(compileRoute('page/{n:int=1}').match('/page'), { n: '1' });
    assert.deepEqual(compileRoute('page/{n:int=1}').match('/page/3'), { n: '3' });
  });
  it('catch-all takes the rest of the path, slashes included, and may be empty', () => {
    const route = compileRoute('files/{*path}');
    assert.deepEqual(route.match('/files/a/b/c.txt'), { path: 'a/b/c.txt' });
    assert.deepEqual(route.match('/files'), {});
    assert.deepEqual(compileRoute('files/{**path}').match('/files/x/y'), { path: 'x/y' });
  });
  it('splits several parameters in one segment at their literal separators', () => {
    assert.deepEqual(compileRoute('x/{a}.{b}').match('/x/report.pdf'), { a: 'report', b: 'pdf' });
  });
  it('supports regex constraints containing parentheses, commas and colons, anchored and case-insensitive', () => {
    const route = compileRoute('c/{code:regex(^(ab|cd):\\d{{1,2}}$)}');
    assert.deepEqual(route.match('/c/AB:7'), { code: 'AB:7' });
    assert.equal(route.match('/c/ab:777'), undefined);
  });
  it('checks guid, bool, alpha, range, length and min/max', () => {
    assert.ok(compileRoute('{g:guid}').match('/3f2504e0-4f89-11d3-9a0c-0305e82c3301'));
    assert.equal(compileRoute('{g:guid}').match('/nope'), undefined);
    assert.ok(compileRoute('{b:bool}').match('/TRUE'));
    assert.equal(compileRoute('{a:alpha}').match('/abc1'), undefined);
    assert.ok(compileRoute('{n:range(1,10)}').match('/10'));
    assert.equal(compileRoute('{n:range(1,10)}').match('/11'), undefined);
    assert.ok(compileRoute('{s:length(3)}').match('/abc'));
    assert.equal(compileRoute('{s:length(2,3)}').match('/abcd'), undefined);
    assert.equal(compileRoute('{n:int:min(1)}').match('/0'), undefined);
    assert.ok(compileRoute('{n:int:max(5)}').match('/5'));
  });
  it('tolerates leading and trailing slashes on paths and templates', () => {
    assert.deepEqual(compileRoute('/jobs/{id}/').match('jobs/7/'), { id: '7' });
  });
  it('rejects invalid templates with a clear error', () => {
    assert.throws(() => compileRoute('jobs/{id'), /unbalanced/);
    assert.throws(() => compileRoute('jobs/{id}/{id}'), /duplicate route parameter/);
    assert.throws(() => compileRoute('{a?}/b'), /optional parameter must be last/);
    assert.throws(() => compileRoute('{*rest}/b'), /catch-all parameter must be last/);
    assert.throws(() => compileRoute('{a:nonsense}'), /unknown route constraint/);
  });
  it('orders routes literal first, then constrained, then plain, then catch-all', () => {
    const templates = ['{a}', 'items/{id}', 'items/new', '{*all}', 'items/{id:int}'];
    const sorted = templates.map(compileRoute).sort(compareRoutes).map((r) => r.template);
    assert.deepEqual(sorted, ['items/new', 'items/{id:int}', 'items/{id}', '{a}', '{*all}']);
  });
});
