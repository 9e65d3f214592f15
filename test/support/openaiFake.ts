/** The OpenAI side of the AI wire fake, under the name the engine tests use (see aiFake.ts). */
import { startAiFake, type AiFake } from './aiFake';

export type { FakeRule } from './aiFake';
export type OpenAiFake = AiFake & { baseUrl: string };

export async function startOpenAiFake(): Promise<OpenAiFake> {
  const fake = await startAiFake();
  return Object.assign(fake, { baseUrl: fake.openaiBaseUrl });
}
