resource "signalcraft_user" "ada" {
  name  = "Ada Lovelace"
  email = "ada@example.com"
  role  = "admin"
}

resource "signalcraft_user" "grace" {
  name  = "Grace Hopper"
  email = "grace@example.com"
}

resource "signalcraft_team" "database" {
  name = "Database SRE"
  members {
    user = signalcraft_user.ada.key
    role = "manager"
  }
  members {
    user = signalcraft_user.grace.key
  }
}
