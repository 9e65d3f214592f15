// Every role the app's managed identity needs (and, for debugging, the deployer's): data-plane roles only, each on
// the one resource it is for. Follows app/rbac.bicep of the Azure-Samples template, plus Key Vault and the scheduler.
param storageAccountName string
param appInsightsName string
param keyVaultName string
@description('Empty when the Durable backend is Azure Storage.')
param durableTaskSchedulerName string = ''
param managedIdentityPrincipalId string
param userIdentityPrincipalId string = ''
param allowUserIdentityPrincipal bool = false
param enableBlob bool = true
param enableQueue bool = true
param enableTable bool = true

// Built-in role definition ids.
var blobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
var queueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
var tableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
var metricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402' // Durable Task Data Contributor

resource storageAccount 'Microsoft.Storage/storageAccounts@2022-09-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' existing = if (!empty(durableTaskSchedulerName)) {
  name: durableTaskSchedulerName
}

var withUser = allowUserIdentityPrincipal && !empty(userIdentityPrincipalId)

// Owner, not Contributor: the runtime's blob leases and the deployment package need it (as in the template).
resource blobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableBlob) {
  name: guid(storageAccount.id, managedIdentityPrincipalId, blobDataOwner)
  scope: storageAccount
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', blobDataOwner)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource blobRoleUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableBlob && withUser) {
  name: guid(storageAccount.id, userIdentityPrincipalId, blobDataOwner)
  scope: storageAccount
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', blobDataOwner)
    principalId: userIdentityPrincipalId
    principalType: 'User'
  }
}

// The jobs queue (webhook, API and sweeper enqueue; the queue trigger reads) and Durable's queues.
resource queueRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableQueue) {
  name: guid(storageAccount.id, managedIdentityPrincipalId, queueDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', queueDataContributor)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource queueRoleUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableQueue && withUser) {
  name: guid(storageAccount.id, userIdentityPrincipalId, queueDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', queueDataContributor)
    principalId: userIdentityPrincipalId
    principalType: 'User'
  }
}

// Durable instance and history tables (Azure Storage backend only).
resource tableRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableTable) {
  name: guid(storageAccount.id, managedIdentityPrincipalId, tableDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', tableDataContributor)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource tableRoleUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableTable && withUser) {
  name: guid(storageAccount.id, userIdentityPrincipalId, tableDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', tableDataContributor)
    principalId: userIdentityPrincipalId
    principalType: 'User'
  }
}

// Telemetry with Entra ID auth (App Insights has local auth disabled).
resource appInsightsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, managedIdentityPrincipalId, metricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', metricsPublisher)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Read-only on secret values: enough to resolve Key Vault references, not to list or change them.
resource keyVaultRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, managedIdentityPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Without it the scheduler answers 403 to the app's gRPC calls.
resource schedulerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(durableTaskSchedulerName)) {
  name: guid(resourceGroup().id, durableTaskSchedulerName, managedIdentityPrincipalId, durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}
