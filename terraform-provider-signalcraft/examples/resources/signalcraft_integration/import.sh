# by key (the API name)
terraform import signalcraft_integration.this prometheus
