resource "signalcraft_integration" "prometheus" {
  name     = "Prometheus"
  type     = "alertmanager"
  settings = jsonencode({ default_severity = "warning" })
}

resource "signalcraft_alert_policy" "db_cpu" {
  name                 = "DB CPU"
  severity             = "critical"
  routing_key          = "db-team"
  escalation_policy_id = signalcraft_escalation_policy.db_team_policy.id
  conditions {
    metric   = "cpu_usage"
    operator = "gt"
    value    = 90
  }
}

# The rule an engineer changes in a pull request.
resource "signalcraft_routing_rule" "database" {
  name            = "Database alerts"
  priority        = 20
  alert_policy_id = signalcraft_alert_policy.db_cpu.id
  conditions {
    field    = "labels"
    key      = "team"
    operator = "equals"
    value    = "database"
  }
}

output "alertmanager_webhook_url" {
  value     = signalcraft_integration.prometheus.webhook_url
  sensitive = true
}
