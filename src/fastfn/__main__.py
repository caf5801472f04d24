from fastfn._entry import main

main()
