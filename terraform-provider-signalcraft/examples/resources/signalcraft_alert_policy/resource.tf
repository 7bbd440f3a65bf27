resource "signalcraft_alert_policy" "db_cpu" {
  name                 = "DB CPU"
  severity             = "critical"
  routing_key          = "db-team"
  escalation_policy_id = signalcraft_escalation_policy.db_team_policy.id
  conditions {
    metric       = "cpu_usage"
    operator     = "gt"
    value        = 90
    for_duration = "5m"
  }
}
