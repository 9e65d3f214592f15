// Durable Task Scheduler: the managed Durable Functions backend, used when durableBackend=durableTaskScheduler.
// The app reaches it with its managed identity (Durable Task Data Contributor, granted in rbac.bicep).
param name string
param location string = resourceGroup().location
param tags object = {}

@description('Task hub name; must equal host.json extensions.durableTask.hubName.')
param taskHubName string

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // Consumption SKU: billed per orchestration action, nothing while idle (Dedicated is a fixed monthly capacity unit).
    sku: {
      name: 'Consumption'
    }
    // An empty allow-list denies every caller; access control is Entra ID + RBAC, as for storage.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
