data "signalcraft_escalation_policy" "db" {
  name = "Database SRE Policy"
}
