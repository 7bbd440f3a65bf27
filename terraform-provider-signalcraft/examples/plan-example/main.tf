# The SignalCraft plan's example: an escalation policy that pages the on-call of a schedule.
# `name` is the display name; the API name (`key`) is derived from it: "database-sre-policy".

resource "signalcraft_user" "alice" {
  name  = "Alice Example"
  email = "alice@example.com"
}

resource "signalcraft_user" "bob" {
  name  = "Bob Example"
  email = "bob@example.com"
}

resource "signalcraft_schedule" "db_primary" {
  name      = "DB Primary"
  time_zone = "Europe/Berlin"
  layers {
    name                         = "weekly"
    start                        = "2026-01-05T09:00:00+01:00"
    rotation_turn_length_seconds = 604800
    users                        = [signalcraft_user.alice.key, signalcraft_user.bob.key]
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
}
