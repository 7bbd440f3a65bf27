terraform {
  required_version = ">= 1.5.0"
  required_providers {
    signalcraft = {
      source  = "signalcraft/signalcraft"
      version = ">= 0.1.0"
    }
  }
  # A real repository keeps its state in a shared backend with locking, e.g.:
  # backend "s3" { bucket = "acme-terraform-state", key = "signalcraft/prod.tfstate", dynamodb_table = "terraform-locks" }
}

# SIGNALCRAFT_API_URL and SIGNALCRAFT_API_KEY come from the CI's secrets.
provider "signalcraft" {
  manager_identity = "terraform://monitoring-config/prod"
}
