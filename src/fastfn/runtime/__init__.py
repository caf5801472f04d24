"""What ships inside a function image. Never imports localcloud, deploy, doctor or cli."""
