from stream_apps.app import main

main()
