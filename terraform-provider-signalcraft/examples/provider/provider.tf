terraform {
  required_providers {
    signalcraft = {
      source = "signalcraft/signalcraft"
    }
  }
}

# api_url and api_key fall back to SIGNALCRAFT_API_URL and SIGNALCRAFT_API_KEY.
provider "signalcraft" {
  api_url          = "https://signalcraft.example.com"
  manager_identity = "terraform://monitoring-config/prod"
}
