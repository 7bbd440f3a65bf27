# by key (the API name)
terraform import signalcraft_routing_rule.this silence-staging
