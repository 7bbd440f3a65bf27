resource "signalcraft_team" "db_sre" {
  name        = "Database SRE"
  description = "Owns the databases"
  members {
    user = signalcraft_user.ada.key
    role = "manager"
  }
  members {
    user = signalcraft_user.grace.key
  }
}
