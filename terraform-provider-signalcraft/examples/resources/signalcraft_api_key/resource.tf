resource "signalcraft_api_key" "ci" {
  service_account = signalcraft_service_account.ci.name
  name            = "deploy"
  scopes          = ["alert_groups:read", "events:write"]
  expires_at      = "2027-01-01T00:00:00Z"
}

# The key is in the state (sensitive): hand it on, e.g. to a CI secret.
output "ci_key" {
  value     = signalcraft_api_key.ci.key
  sensitive = true
}
