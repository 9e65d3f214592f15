// Key Vault holding the app's secrets; the Function App reads them through Key Vault references with its
// user-assigned identity (role granted in rbac.bicep). Secrets arrive as deployment parameters, never from the repo.
param name string
param location string = resourceGroup().location
param tags object = {}

@secure()
@description('Secret name -> value; empty values are skipped (the app setting is then left out as well).')
param secrets object

@description('Storage account whose connection string is stored when storeStorageConnectionString is true.')
param storageAccountName string

@description('Store the storage account connection string as secret storage-connection-string (shared-key mode only).')
param storeStorageConnectionString bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Azure RBAC instead of access policies: one permission model for storage, vault and monitoring.
    enableRbacAuthorization: true
    // Soft delete is mandatory on new vaults; 7 days is the shortest window (azd down --purge removes it at once).
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // Purge protection off: `azd down --purge` must be able to free the name for the next `azd up`.
    enablePurgeProtection: null
    // Reachable from Flex Consumption without a VNet; access is still Entra ID + RBAC only.
    publicNetworkAccess: 'Enabled'
  }
}

resource secretValues 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for s in filter(items(secrets), s => !empty(s.value)): {
    parent: vault
    name: s.key
    properties: {
      value: s.value
    }
  }
]

resource stg 'Microsoft.Storage/storageAccounts@2022-09-01' existing = {
  name: storageAccountName
}

resource storageConnectionString 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (storeStorageConnectionString) {
  parent: vault
  name: 'storage-connection-string'
  properties: {
    value: 'DefaultEndpointsProtocol=https;AccountName=${stg.name};AccountKey=${stg.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
  }
}

output name string = vault.name
// Ends with '/': references are built as '<endpoint>secrets/<name>'.
output endpoint string = vault.properties.vaultUri
