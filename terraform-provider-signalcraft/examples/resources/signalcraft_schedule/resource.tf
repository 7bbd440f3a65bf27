resource "signalcraft_schedule" "db_primary" {
  name      = "DB Primary"
  time_zone = "Europe/Berlin"
  layers {
    name                         = "weekly"
    start                        = "2026-01-05T09:00:00+01:00" # any offset; compared as an instant
    rotation_turn_length_seconds = 604800
    users                        = [signalcraft_user.ada.key, signalcraft_user.grace.key]
  }

  # Escalation policies reference the schedule: replace it before deleting the old one.
  lifecycle {
    create_before_destroy = true
  }
}
