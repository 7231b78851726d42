from onelane.cli.main import run

run()
