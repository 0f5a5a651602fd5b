from tfflops.cli import run

run()
