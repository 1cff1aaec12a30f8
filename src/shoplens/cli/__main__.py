from shoplens.launch import main

main()
