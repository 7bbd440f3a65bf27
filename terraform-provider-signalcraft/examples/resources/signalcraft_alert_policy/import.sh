# by key (the API name)
terraform import signalcraft_alert_policy.this db-cpu
