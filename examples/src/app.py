print("hello from dockfix example")
