from ebookserver.cli import main

main()
