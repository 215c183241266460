from tscorr.cli import main

main()
