resource "signalcraft_schedule" "db_primary" {
  name      = "DB Primary"
  time_zone = "Europe/Berlin"
  layers {
    name                         = "weekly"
    start                        = "2026-01-05T09:00:00+01:00"
    rotation_turn_length_seconds = 604800
    users                        = [signalcraft_user.ada.key, signalcraft_user.grace.key]
  }
  lifecycle {
    create_before_destroy = true
  }
}

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
      id   = signalcraft_team.database.id
    }
  }
}
