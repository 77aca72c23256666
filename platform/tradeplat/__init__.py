"""tradeplat"""
