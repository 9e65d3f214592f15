// The Function App: Flex Consumption, Linux, Node, user-assigned identity for storage, Key Vault references and
// telemetry. Same shape as app/api.bicep of Azure-Samples/functions-quickstart-typescript-azd.
param name string
@description('Region of the Function App (the plan\'s region).')
param location string = resourceGroup().location
param tags object = {}
param applicationInsightsName string = ''
param appServicePlanId string
@description('App settings of the app; merged under the identity and telemetry settings built here.')
param appSettings object = {}
@description('Language runtime; Flex Consumption takes it here instead of FUNCTIONS_WORKER_RUNTIME.')
param runtimeName string
@description('Runtime major version (package.json engines must include it).')
param runtimeVersion string
param serviceName string = 'api'
param storageAccountName string
@description('Blob container the deployment package is uploaded to (Flex Consumption one-deploy).')
param deploymentStorageContainerName string
param virtualNetworkSubnetId string = ''
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 100
param identityId string = ''
param identityClientId string = ''
param enableBlob bool = true
param enableQueue bool = true
param enableTable bool = true

var applicationInsightsIdentity = 'ClientId=${identityClientId};Authorization=AAD'
var kind = 'functionapp,linux'

// Identity-based AzureWebJobsStorage: the runtime, the triggers/bindings (connection 'AzureWebJobsStorage') and
// Durable Functions build their clients from these; no account key exists in the app.
var baseAppSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: applicationInsightsIdentity
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
}
var blobSettings = enableBlob ? { AzureWebJobsStorage__blobServiceUri: stg.properties.primaryEndpoints.blob } : {}
var queueSettings = enableQueue ? { AzureWebJobsStorage__queueServiceUri: stg.properties.primaryEndpoints.queue } : {}
var tableSettings = enableTable ? { AzureWebJobsStorage__tableServiceUri: stg.properties.primaryEndpoints.table } : {}

var allAppSettings = union(appSettings, blobSettings, queueSettings, tableSettings, baseAppSettings)

resource stg 'Microsoft.Storage/storageAccounts@2022-09-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = if (!empty(applicationInsightsName)) {
  name: applicationInsightsName
}

module api 'br/public:avm/res/web/site:0.15.1' = {
  name: '${serviceName}-flex-consumption'
  params: {
    kind: kind
    name: name
    location: location
    // azd finds the deploy target by this tag.
    tags: union(tags, { 'azd-service-name': serviceName })
    serverFarmResourceId: appServicePlanId
    managedIdentities: {
      systemAssigned: false
      userAssignedResourceIds: [
        identityId
      ]
    }
    // Key Vault references resolve with the user-assigned identity (the default would be a system identity we lack).
    keyVaultAccessIdentityResourceId: identityId
    // Functions keys and the Durable management API need HTTPS only; plain HTTP would expose x-functions-key.
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${stg.properties.primaryEndpoints.blob}${deploymentStorageContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: runtimeName
        version: runtimeVersion
      }
    }
    siteConfig: {
      // Flex Consumption scales to zero; always-ready instances (a plan setting) are the knob for cold starts.
      alwaysOn: false
      // No FTP: deployments go through azd / func publish with Entra ID tokens.
      ftpsState: 'Disabled'
      // TLS 1.2 minimum for callers (apps, the pg_net webhook).
      minTlsVersion: '1.2'
    }
    virtualNetworkSubnetId: !empty(virtualNetworkSubnetId) ? virtualNetworkSubnetId : null
    appSettingsKeyValuePairs: allAppSettings
  }
}

output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = 'https://${api.outputs.defaultHostname}'
