"""The charger port: write each bay's power setpoint, read each bay's state, over any charger
backend (Modbus and CAN profiles, the simulated backend; OCPP later)."""
