"""tradestorm"""
