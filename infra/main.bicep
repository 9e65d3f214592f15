// longhaul on Azure: a Flex Consumption Function App (Node 22) with Durable Functions, its storage reached through a
// user-assigned managed identity (no shared keys), Application Insights on Log Analytics, and the app's secrets in
// Key Vault. Structure follows Azure-Samples/functions-quickstart-typescript-azd (main.bicep + app/*.bicep, AVM
// modules, azd naming and outputs). Runbook: docs/deploy.md. Bicep is not compiled on the dev machines: what was
// checked by reading and what only a deployment proves is listed there.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; hashed into a short token that makes every resource name unique.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer Flex Consumption (az functionapp list-flexconsumption-locations) and, with durableBackend=durableTaskScheduler, the Durable Task Scheduler.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person running azd; gets data access to the storage account for debugging. Leave empty in production.')
param principalId string = deployer().objectId

@description('Durable Functions backend. azureStorage (default): the task hub lives in the same storage account (queues, tables, blobs), nothing else to pay for or run, ~5 activities/s sequential and ~100/s fan-out per instance, and the host polls its queues while it runs. durableTaskScheduler: a managed scheduler (Consumption SKU, billed per action), ~5x the throughput, no storage polling and a monitoring dashboard, but one more resource, 1 MB payload cap, and instance ids of at most 100 characters (ours are ~45).')
@allowed([
  'azureStorage'
  'durableTaskScheduler'
])
param durableBackend string = 'azureStorage'

@description('Allow shared-key access to the storage account and hand the app a Key Vault-held connection string. Off by default (identity only). Needed today by image_generation (read-only SAS URLs are signed with the account key) and recording_analysis (job files in Blob Storage): see docs/deploy.md, known gaps.')
param storageSharedKeyAccess bool = false

@description('Memory of each Flex Consumption instance, in MB. recording_analysis runs ffmpeg on files up to MAX_FILE_SIZE_MB: 2048 is the smallest that fits comfortably.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of Flex Consumption instances (the plan scales out to this on queue and Durable backlog). Each instance opens up to 10 Postgres connections: keep instances x 10 within the Supabase pooler\'s client limit.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('NCRONTAB schedule of the sweeper (SWEEPER_SCHEDULE). Every 30 s with SWEEPER_REDELIVER_AFTER_SECONDS=20 keeps the promise that a job whose webhook was lost starts within 60 s; each tick is one short execution (see docs/deploy.md, cost).')
param sweeperSchedule string = '*/30 * * * * *'

@description('Seconds after which the sweeper re-enqueues an unacknowledged job attempt (SWEEPER_REDELIVER_AFTER_SECONDS). Must exceed the webhook timeout plus queue pickup: longhaul.check_webhook checks it.')
@minValue(1)
param sweeperRedeliverAfterSeconds int = 20

@description('Storage queue of job attempts (JOBS_QUEUE_NAME); its poison queue is <name>-poison.')
param jobsQueueName string = 'jobs'

@description('Blob container for generated images (IMAGE_CONTAINER).')
param imageContainerName string = 'longhaul-images'

@description('Supabase project URL, https://<ref>.supabase.co (Storage for recording_analysis and image files).')
param supabaseUrl string = ''

@description('Supabase JWKS URL, https://<ref>.supabase.co/auth/v1/.well-known/jwks.json, for projects that sign access tokens with asymmetric keys.')
param supabaseJwksUrl string = ''

@secure()
@description('Postgres URL of the Supabase project: the transaction pooler (port 6543), user postgres.<ref>. Stored in Key Vault.')
param databaseUrl string

@secure()
@description('Supabase service role key (Storage). Stored in Key Vault; never sent to clients.')
param supabaseServiceRoleKey string = ''

@secure()
@description('Supabase JWT secret (HS256 access tokens). Empty when the project uses asymmetric keys (supabaseJwksUrl). Stored in Key Vault.')
param supabaseJwtSecret string = ''

@secure()
@description('Shared secret the database webhook sends in x-webhook-secret; at least 16 characters (openssl rand -hex 32). Stored in Key Vault.')
@minLength(16)
param supabaseWebhookSecret string

@secure()
@description('Operator key for the jobs API admin side and /api/stats (x-functions-key or ?code=); at least 16 characters. Stored in Key Vault.')
@minLength(16)
param adminApiKey string

@description('AI_PROVIDER: auto | local | gemini | openai | azure-openai | anthropic. auto picks the first provider with a key, else the offline model.')
param aiProvider string = 'auto'

@secure()
@description('Gemini API key (empty: not configured). Stored in Key Vault.')
param geminiApiKey string = ''

@secure()
@description('OpenAI API key (empty: not configured). Stored in Key Vault.')
param openaiApiKey string = ''

@description('Azure OpenAI endpoint, https://<resource>.openai.azure.com (empty: not configured).')
param azureOpenaiEndpoint string = ''

@secure()
@description('Azure OpenAI key (empty: not configured). Stored in Key Vault.')
param azureOpenaiApiKey string = ''

@secure()
@description('Anthropic API key (empty: not configured). Stored in Key Vault.')
param anthropicApiKey string = ''

@secure()
@description('URL that receives job notifications (NOTIFY_WEBHOOK_URL); treated as a secret because such URLs often embed a token. Empty: no notifications.')
param notifyWebhookUrl string = ''

@description('Further app settings, merged last (e.g. {"GEMINI_RPM": "1000", "AZURE_OPENAI_TEXT_DEPLOYMENT": "gpt-4o-mini"}); never put secrets here.')
param extraAppSettings object = {}

@description('Optional name of the Function App; empty: the azd convention (abbreviation + resource token).')
param apiServiceName string = ''
@description('Optional name of the managed identity; empty: the azd convention (abbreviation + resource token).')
param apiUserAssignedIdentityName string = ''
@description('Optional name of the Application Insights component; empty: the azd convention (abbreviation + resource token).')
param applicationInsightsName string = ''
@description('Optional name of the Flex Consumption plan; empty: the azd convention (abbreviation + resource token).')
param appServicePlanName string = ''
@description('Optional name of the Log Analytics workspace; empty: the azd convention (abbreviation + resource token).')
param logAnalyticsName string = ''
@description('Optional name of the resource group; empty: the azd convention (abbreviation + resource token).')
param resourceGroupName string = ''
@description('Optional name of the storage account; empty: the azd convention (abbreviation + resource token).')
param storageAccountName string = ''
@description('Optional name of the Key Vault; empty: the azd convention (abbreviation + resource token).')
param keyVaultName string = ''
@description('Optional name of the Durable Task Scheduler; empty: the azd convention (abbreviation + resource token).')
param durableTaskSchedulerName string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = !empty(apiServiceName) ? apiServiceName : '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentStorageContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
// Must equal host.json extensions.durableTask.hubName: the scheduler's task hub is looked up by that name.
var taskHubName = 'longhaul'
var useScheduler = durableBackend == 'durableTaskScheduler'

resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// One user-assigned identity for storage, Key Vault references, App Insights and the scheduler: it exists before the
// app does, so every role can be granted in the same deployment.
module apiUserAssignedIdentity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'apiUserAssignedIdentity'
  scope: rg
  params: {
    location: location
    tags: tags
    name: !empty(apiUserAssignedIdentityName) ? apiUserAssignedIdentityName : '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
  }
}

module appServicePlan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'appserviceplan'
  scope: rg
  params: {
    name: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    // FC1 = Flex Consumption: scale to zero, per-execution billing, up to 1,000 instances, 30 min default timeout.
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    // Linux plan: Flex Consumption exists only on Linux.
    reserved: true
    location: location
    tags: tags
  }
}

module storage 'br/public:avm/res/storage/storage-account:0.8.3' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    // Images are private; they are read through SAS URLs only.
    allowBlobPublicAccess: false
    // Identity-only unless a deployment opts in (see the parameter): no key to leak or rotate.
    allowSharedKeyAccess: storageSharedKeyAccess
    dnsEndpointType: 'Standard'
    // Public endpoint with Entra ID auth: Flex Consumption without a VNet reaches storage over it.
    publicNetworkAccess: 'Enabled'
    // No IP filter: Flex Consumption instances have no fixed outbound addresses without a VNet.
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: [
        { name: deploymentStorageContainerName }
        { name: imageContainerName }
      ]
    }
    // TLS 1.2 minimum: older protocols are rejected by policy in most tenants anyway.
    minimumTlsVersion: 'TLS1_2'
    location: location
    tags: tags
  }
}

// Queues and tables are on whatever the backend: the jobs queue always, the Durable task hub on Azure Storage.
var storageEndpointConfig = {
  enableBlob: true // deployment package, images, recording segments, Durable large messages and leases
  enableQueue: true // the jobs queue and its poison queue; Durable control and work-item queues on azureStorage
  enableTable: !useScheduler // Durable instance and history tables exist only with the azureStorage backend
  allowUserIdentityPrincipal: !empty(principalId) // lets the deployer inspect queues and blobs while debugging
}

module rbac 'app/rbac.bicep' = {
  name: 'rbacAssignments'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.name
    keyVaultName: keyVault.outputs.name
    durableTaskSchedulerName: useScheduler ? durableTaskScheduler!.outputs.name : ''
    managedIdentityPrincipalId: apiUserAssignedIdentity.outputs.principalId
    userIdentityPrincipalId: principalId
    enableBlob: storageEndpointConfig.enableBlob
    enableQueue: storageEndpointConfig.enableQueue
    enableTable: storageEndpointConfig.enableTable
    allowUserIdentityPrincipal: storageEndpointConfig.allowUserIdentityPrincipal
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: '${uniqueString(deployment().name, location)}-loganalytics'
  scope: rg
  params: {
    name: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
    // 30 days is the retention included in the ingestion price.
    dataRetention: 30
  }
}

module monitoring 'br/public:avm/res/insights/component:0.6.0' = {
  name: '${uniqueString(deployment().name, location)}-appinsights'
  scope: rg
  params: {
    name: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    // Entra ID ingestion only: the connection string alone cannot write telemetry.
    disableLocalAuth: true
  }
}

// Secrets by Key Vault secret name. Only the non-empty ones are stored and referenced.
var secretValues = {
  'database-url': databaseUrl
  'supabase-service-role-key': supabaseServiceRoleKey
  'supabase-jwt-secret': supabaseJwtSecret
  'supabase-webhook-secret': supabaseWebhookSecret
  'admin-api-key': adminApiKey
  'gemini-api-key': geminiApiKey
  'openai-api-key': openaiApiKey
  'azure-openai-api-key': azureOpenaiApiKey
  'anthropic-api-key': anthropicApiKey
  'notify-webhook-url': notifyWebhookUrl
}
var presentSecretNames = map(filter(items(secretValues), s => !empty(s.value)), s => s.key)

module keyVault 'app/keyvault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    storeStorageConnectionString: storageSharedKeyAccess
    secrets: secretValues
  }
}

module durableTaskScheduler 'app/durable-task-scheduler.bicep' = if (useScheduler) {
  name: 'durableTaskScheduler'
  scope: rg
  params: {
    name: !empty(durableTaskSchedulerName) ? durableTaskSchedulerName : '${abbrs.durableTaskSchedulers}${resourceToken}'
    location: location
    tags: tags
    taskHubName: taskHubName
  }
}

// A setting is only present when its secret is: a Key Vault reference to a missing secret would reach the app as the
// literal '@Microsoft.KeyVault(...)' text and pass for a key.
var secretSettingNames = {
  'database-url': 'DATABASE_URL'
  'supabase-service-role-key': 'SUPABASE_SERVICE_ROLE_KEY'
  'supabase-jwt-secret': 'SUPABASE_JWT_SECRET'
  'supabase-webhook-secret': 'SUPABASE_WEBHOOK_SECRET'
  'admin-api-key': 'ADMIN_API_KEY'
  'gemini-api-key': 'GEMINI_API_KEY'
  'openai-api-key': 'OPENAI_API_KEY'
  'azure-openai-api-key': 'AZURE_OPENAI_API_KEY'
  'anthropic-api-key': 'ANTHROPIC_API_KEY'
  'notify-webhook-url': 'NOTIFY_WEBHOOK_URL'
}
// Versionless references: a rotated secret reaches the app without a redeploy (docs/deploy.md, rotate secrets).
var secretAppSettings = toObject(
  presentSecretNames,
  n => secretSettingNames[n],
  n => '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.endpoint}secrets/${n})'
)

var plainAppSettings = union(
  {
    JOBS_QUEUE_NAME: jobsQueueName
    SWEEPER_SCHEDULE: sweeperSchedule
    SWEEPER_REDELIVER_AFTER_SECONDS: string(sweeperRedeliverAfterSeconds)
    IMAGE_CONTAINER: imageContainerName
    AI_PROVIDER: aiProvider
    // Below the 10 min functionTimeout of host.json: a chunk returns partial and is rescheduled instead of being killed.
    JOB_CHUNK_TIME_BUDGET_SECONDS: '240'
  },
  empty(supabaseUrl) ? {} : { SUPABASE_URL: supabaseUrl },
  empty(supabaseJwksUrl) ? {} : { SUPABASE_JWKS_URL: supabaseJwksUrl },
  empty(azureOpenaiEndpoint) ? {} : { AZURE_OPENAI_ENDPOINT: azureOpenaiEndpoint }
)

// The Durable Task Scheduler is selected by overriding host.json through app settings, so one host.json (and one
// tested artifact) serves both backends.
var schedulerAppSettings = useScheduler
  ? {
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
      DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskScheduler!.outputs.endpoint};Authentication=ManagedIdentity;ClientID=${apiUserAssignedIdentity.outputs.clientId}'
    }
  : {}

// With shared-key access the app gets a connection string (from Key Vault), which the app and the runtime prefer over
// the identity settings; the identity settings stay for the deployment package.
var storageKeySettings = storageSharedKeyAccess
  ? { AzureWebJobsStorage: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.endpoint}secrets/storage-connection-string)' }
  : {}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.name
    appServicePlanId: appServicePlan.outputs.resourceId
    runtimeName: 'node'
    // Node 22: the newest Node the Functions v4 host offers on Flex; package.json engines must include it (artifact test).
    runtimeVersion: '22'
    storageAccountName: storage.outputs.name
    enableBlob: storageEndpointConfig.enableBlob
    enableQueue: storageEndpointConfig.enableQueue
    enableTable: storageEndpointConfig.enableTable
    deploymentStorageContainerName: deploymentStorageContainerName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    identityId: apiUserAssignedIdentity.outputs.resourceId
    identityClientId: apiUserAssignedIdentity.outputs.clientId
    appSettings: union(plainAppSettings, secretAppSettings, schedulerAppSettings, storageKeySettings, extraAppSettings)
  }
  // Key Vault references resolve at start-up: the identity must be allowed to read secrets before the app starts.
  dependsOn: [
    rbac
  ]
}

// azd reads these into the environment (.azure/<env>/.env); names follow the Azure-Samples template.
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.SERVICE_API_NAME
output AZURE_FUNCTION_NAME string = api.outputs.SERVICE_API_NAME
output SERVICE_API_URI string = api.outputs.SERVICE_API_URI
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.endpoint
output DURABLE_BACKEND string = durableBackend
// The URL to give longhaul.install_webhook (docs/deploy.md, "Configure the webhook").
output LONGHAUL_WEBHOOK_URL string = '${api.outputs.SERVICE_API_URI}/api/webhooks/supabase'
