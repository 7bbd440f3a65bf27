# Creating a user invites them; the key is derived from the name: "ada-lovelace".
resource "signalcraft_user" "ada" {
  name  = "Ada Lovelace"
  email = "ada@example.com"
  role  = "admin"
}
