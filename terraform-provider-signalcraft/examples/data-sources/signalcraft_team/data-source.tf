data "signalcraft_team" "sre" {
  key = "database-sre"
}
