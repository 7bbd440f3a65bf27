# by key (the API name)
terraform import signalcraft_escalation_policy.this database-sre-policy
