# by key (the API name)
terraform import signalcraft_team.this database-sre
