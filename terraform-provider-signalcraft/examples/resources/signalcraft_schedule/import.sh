# by key (the API name)
terraform import signalcraft_schedule.this db-primary
