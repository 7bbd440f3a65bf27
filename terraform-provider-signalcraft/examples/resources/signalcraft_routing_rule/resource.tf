# Events from staging and dev are dropped; rules run by ascending priority, the first match wins.
resource "signalcraft_routing_rule" "silence_staging" {
  name     = "Silence staging"
  priority = 10
  suppress = true
  conditions {
    field    = "labels"
    key      = "env"
    operator = "in"
    values   = ["staging", "dev"]
  }
}

resource "signalcraft_routing_rule" "database_alerts" {
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
