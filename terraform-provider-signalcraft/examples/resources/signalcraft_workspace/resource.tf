resource "signalcraft_workspace" "this" {
  name                  = "Acme Operations"
  time_zone             = "Europe/Berlin"
  default_severity      = "warning"
  notification_channels = ["email", "push"]
  reminder_minutes      = 15
}
