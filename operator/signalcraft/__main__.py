from signalcraft.cli import main

main()
