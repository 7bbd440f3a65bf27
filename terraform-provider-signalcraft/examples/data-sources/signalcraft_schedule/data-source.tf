data "signalcraft_schedule" "primary" {
  name = "DB Primary"
}
