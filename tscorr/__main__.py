from tscorr._entry import main

main()
