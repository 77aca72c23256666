from tradestorm.cli import main

main()
