data "signalcraft_integration" "prometheus" {
  key = "prometheus"
}
