resource "signalcraft_service_account" "ci" {
  name        = "ci"
  description = "CI pipeline"
}
