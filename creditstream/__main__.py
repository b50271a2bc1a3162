from creditstream.cli import main

main()
