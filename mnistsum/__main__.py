from mnistsum.cli import main

main()
