resource "signalcraft_escalation_policy" "db_team_policy" {
  name = "Database SRE Policy"
  rules {
    delay_minutes = 0
    targets {
      type = "schedule"
      id   = signalcraft_schedule.db_primary.id
    }
  }
  rules {
    delay_minutes = 15
    targets {
      type = "team"
      id   = signalcraft_team.db_sre.id
    }
  }
  num_loops = 1
}
