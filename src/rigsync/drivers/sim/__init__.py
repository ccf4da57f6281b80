"""The camera simulator: the default driver, rendering a shared 3D scene from each camera's pose."""
