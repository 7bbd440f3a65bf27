# by key (the API name)
terraform import signalcraft_user.this ada-lovelace
