data "signalcraft_user" "lead" {
  name = "Ada Lovelace" # or key = "ada-lovelace"
}
