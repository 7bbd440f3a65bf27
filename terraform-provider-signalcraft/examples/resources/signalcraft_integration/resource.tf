resource "signalcraft_integration" "prometheus" {
  name     = "Prometheus"
  type     = "alertmanager"
  settings = jsonencode({ default_severity = "warning" })
}

resource "signalcraft_integration" "jira" {
  name = "Jira"
  type = "jira"
  settings = jsonencode({
    base_url    = "https://acme.atlassian.net"
    project_key = "OPS"
  })
  credentials = {
    email     = "bot@example.com"
    api_token = var.jira_api_token
  }
}

# Alertmanager's webhook_configs url:
output "alertmanager_webhook_url" {
  value     = signalcraft_integration.prometheus.webhook_url
  sensitive = true
}
